"""Offline training of the gateway's task classifier (dev only: not in the wheel).

Builds labelled prompts from ../shared/datasets and fits the weights that
gateway/routing/classifier.json ships; the gateway never imports this package.
"""
