"""The model: inputs, the metric language, the catalogue of metrics and checks, and its evaluation."""
