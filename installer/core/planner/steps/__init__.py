"""The steps for each install method."""
