"""legalplatform: the data layer of a law firm's AI-assisted practice platform."""
