"""The workbench: parameters, kernels, runs, reports, the gallery, batches and the command line."""
