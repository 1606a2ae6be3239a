"""Read queries of the operator tools."""
