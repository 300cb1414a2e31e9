"""The page check: every way to run a script, fetch a URL or navigate is refused; reports pass."""

from __future__ import annotations

import pandas as pd
import pytest

from shopcast.downloads import download_link
from shopcast.exceptions import RenderError
from shopcast.workbench.safety import CSP, check_self_contained


def page(body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">{head}'
        f"<title>t</title><style>.a{{color:red}} .b>.c{{x:url(data:image/png;base64,AA)}}</style>"
        f"</head><body>{body}</body></html>"
    )


#: The payloads of the two audits, and the tricks a parser walk must not miss.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">source</a>',
    "<a href='  JaVa\tScRiPt:alert(1)'>tab</a>",
    '<a href="&#106;avascript:alert(1)">entity</a>',
    '<a href="data:text/html,<script>alert(1)</script>">data link</a>',
    '<a href="vbscript:x">v</a>',
    '<img srcset="https://example.invalid/p.png">',
    '<meta http-equiv="refresh" content="0;url=https://example.invalid/">',
    '<input type="image" src="https://example.invalid/i.png">',
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//example.invalid/x.js></SCRIPT>",
    "<img src=https://example.invalid/p.png>",
    "<img src=//example.invalid/p.png>",
    "<img src=x /onerror=alert(1)>",
    "<object data=https://example.invalid/x.swf></object>",
    "<embed src=https://example.invalid/x>",
    "<base href=https://example.invalid/>",
    "<link rel=stylesheet href=https://example.invalid/x.css>",
    "<form action=https://example.invalid/><button>go</button></form>",
    "<button formaction=https://example.invalid/>go</button>",
    "<video poster=https://example.invalid/p.png></video>",
    "<audio src=https://example.invalid/a.mp3></audio>",
    "<div style=\"background:url('https://example.invalid/p.png')\">x</div>",
    "<div style=\"background:image-set('https://example.invalid/p.png' 1x)\">x</div>",
    "<style>@import 'https://example.invalid/x.css';</style>",
    "<style>.x{background:url(//example.invalid/p.png)}</style>",
    "<svg><image href=https://example.invalid/p.png /></svg>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "<svg><a><set attributeName=href to=javascript:alert(1) /><text>x</text></a></svg>",
    "<svg><use href=https://example.invalid/s.svg#a /></svg>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<!-- x --!><img src=x onerror=alert(1)> -->",
    "<!--><img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<?xml x?>",
    "<a ping=https://example.invalid/ href=#x>p</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<template><img src=x onerror=alert(1)></template>",
    "<details open ontoggle=alert(1)>",
    "<a href=https://example.com/ onclick=alert(1)>c</a>",
    "<body onload=alert(1)>",
    "<img src=x onerror\n=alert(1)>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    '<img src=x" onerror=alert(1)>',
    "<img alt=a'b onerror=alert(1) c'>",
    # An attribute given twice: a browser keeps the first.
    '<a href="javascript:alert(1)" href="https://example.com/">twice</a>',
    '<img src="https://example.invalid/p.png" src="data:image/png;base64,AA">',
]

#: The CSV download is the one data: link allowed; none of these may pass as one.
CSV = "data:text/csv;charset=utf-8,"
HOSTILE_DOWNLOADS = [
    '<a download="x.csv" href="data:text/html,<script>alert(1)</script>">html</a>',
    '<a download="x.csv" href="data:text/html;charset=utf-8,%3Cscript%3Ealert(1)%3C%2Fscript%3E">'
    "h</a>",
    '<a download="x.csv" href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">b</a>',
    '<a download="x.csv" href="data:application/xhtml+xml,%3Chtml%3E">xhtml</a>',
    '<a download="x.csv" href="data:image/svg+xml,%3Csvg%20onload%3Dalert(1)%3E">svg</a>',
    '<a download="x.csv" href="data:text/csv;base64,PHNjcmlwdD4=">base64 csv</a>',
    '<a download="x.csv" href="data:text/csv,a%2Cb">no charset</a>',
    '<a download="x.csv" href="DATA:TEXT/CSV;CHARSET=UTF-8,a">upper case</a>',
    f'<a download="x.csv" href=" {CSV}a">leading space</a>',
    f'<a download="x.csv" href="{CSV}a\tb">a tab</a>',
    f'<a download="x.csv" href="{CSV}&lt;script&gt;alert(1)&lt;/script&gt;">markup</a>',
    f'<a download="x.csv" href="{CSV}a,b">a raw comma</a>',
    f'<a download="x.csv" href="{CSV}%3cscript">lower-case escape</a>',
    f'<a download="x.csv" href="{CSV}%3">half an escape</a>',
    f'<a href="{CSV}a">no download attribute</a>',
    f'<a download href="{CSV}a">no file name</a>',
    f'<a download="x.html" href="{CSV}%3Cscript%3Ealert(1)%3C%2Fscript%3E">saved as html</a>',
    f'<a download="x.csv.html" href="{CSV}a">csv.html</a>',
    f'<a download="../x.csv" href="{CSV}a">a path</a>',
    f'<a download="x.csv" href="javascript:alert(1)" href="{CSV}a">first href a script</a>',
    f'<a download="x.html" download="x.csv" href="{CSV}a">first download html</a>',
    f'<a download="x.csv" href="{CSV}a" onclick="alert(1)">a handler</a>',
    f'<area download="x.csv" href="{CSV}a">',
    f'<img download="x.csv" src="{CSV}a">',
    f'<iframe download="x.csv" src="{CSV}a"></iframe>',
    f'<svg><a download="x.csv" xlink:href="{CSV}a"><text>x</text></a></svg>',
    f'<div style="background:url({CSV}a)">css</div>',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_every_hostile_payload_is_refused(payload):
    with pytest.raises(RenderError, match="pages must be self-contained and inert"):
        check_self_contained(page(payload))


@pytest.mark.parametrize("payload", HOSTILE_DOWNLOADS)
def test_only_the_csv_download_form_of_data_link_passes(payload):
    with pytest.raises(RenderError, match="pages must be self-contained and inert"):
        check_self_contained(page(payload))


def test_real_downloads_pass_whatever_their_data_hold():
    texts = HOSTILE + HOSTILE_DOWNLOADS
    frame = pd.DataFrame({"text": texts, "n": range(len(texts))})
    link = str(download_link(frame, "<script>x</script>.html", what="this table"))
    assert 'download="script-x-script-.html.csv"' in link
    check_self_contained(page(link))


@pytest.mark.parametrize(
    "body",
    [
        "<p>plain &lt;img src=x onerror=alert(1)&gt; text</p>",
        "<table><tr><td>&lt;a href=&quot;javascript:alert(1)&quot;&gt;</td></tr></table>",
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="Chart: x">',
        '<a href="#shopcast-header">top</a> <a href="https://example.com/a?b=1">source</a>',
        '<a href="mailto:someone@example.com">mail</a>',
        '<svg width="1" height="1"><rect width="1" height="1"/></svg>',
        "<pre>x = 1 &lt; 2</pre><!-- a plain comment -->",
        f'<p class="sc-download"><a download="fan_chart.csv" href="{CSV}x%2Cy%0A1%2C2%0A">'
        "Download the data of this chart (CSV, 1 row)</a></p>",
    ],
)
def test_inert_pages_pass(body):
    check_self_contained(page(body))


def test_relative_links_only_where_allowed():
    gallery = page('<a href="./seller_thresholds/base/20260101T000000Z/report.html">report</a>')
    check_self_contained(gallery, relative_links=True)
    with pytest.raises(RenderError, match="link that is not http"):
        check_self_contained(gallery)
    for bad in ("//example.invalid/x", "javascript:alert(1)/x/report.html", "file:///etc/passwd"):
        with pytest.raises(RenderError):
            check_self_contained(page(f'<a href="{bad}">x</a>'), relative_links=True)


def test_the_message_names_what_and_where():
    with pytest.raises(RenderError) as info:
        check_self_contained(page("<p>ok</p>\n<img src=x onerror=alert(1)>"))
    message = str(info.value)
    assert "event-handler attribute" in message and "line 2" in message and "onerror" in message
