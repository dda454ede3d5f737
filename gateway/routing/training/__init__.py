"""Building the classifier's labelled prompts from ../shared/datasets and fitting its weights."""
