"""Write paths of the operator commands, one module each; the commands only parse and report."""
