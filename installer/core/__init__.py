"""The engine of Torch Setup. Nothing under this package may import Qt."""
