"""The sellers analysis's vocabularies, declared once (schemas and loaders read them from here)."""

#: Size distribution families a seller model can be fitted with.
FAMILIES = ("lognormal", "pareto", "lognormal_pareto", "burr12", "dagum", "gb2")
#: Free parameters of each family (a family is identified only by data that pin down this many).
FAMILY_N_PARAMS = {
    "lognormal": 2,
    "pareto": 2,
    "lognormal_pareto": 4,
    "burr12": 3,
    "dagum": 3,
    "gb2": 4,
}
#: The input forms of seller size data.
DATA_FORMS = ("facts", "brackets", "microdata")
#: Where a seller model's scale (mean annual GMV per seller) comes from: the platform's own GMV
#: over its active sellers, or the fitted proxy distribution as it is.
SCALE_SOURCES = ("platform", "proxy")
