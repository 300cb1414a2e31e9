"""The sellers analysis's vocabularies, declared once (schemas and loaders read them from here)."""

#: Size distribution families a seller model can be fitted with.
FAMILIES = ("lognormal", "pareto", "lognormal_pareto")
#: The input forms of seller size data.
DATA_FORMS = ("facts", "brackets", "microdata")
