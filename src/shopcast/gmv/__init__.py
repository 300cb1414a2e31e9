"""The path to a GMV goal: regions, published anchors, history, goal arithmetic, the pipeline."""
