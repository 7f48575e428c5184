"""This app's stacks: composition per environment, no logic of their own."""
