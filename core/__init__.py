"""The ground floor of the schema: the PostgreSQL extensions and shared SQL functions every app's
migrations build on, the model building blocks, the checks that the server and the settings can
hold the schema, and the progress protocol of long commands. Imports Django and the project's
database backend, nothing of the apps above it."""
