"""`manage.py dbshell` on the embedded server: start it first and use its own psql."""

from django.db.backends.postgresql.client import DatabaseClient as PostgresDatabaseClient

from legalplatform import embedded


class DatabaseClient(PostgresDatabaseClient):
    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        args, env = super().settings_to_cmd_args_env(settings_dict, parameters)
        if settings_dict.get("EMBEDDED"):
            args[0] = str(embedded.postgres_bin_dir() / "psql")
        return args, env

    def runshell(self, parameters):
        if self.connection.settings_dict.get("EMBEDDED"):
            self.connection.get_connection_params()  # starts the server, fills HOST, PORT, USER
        super().runshell(parameters)
