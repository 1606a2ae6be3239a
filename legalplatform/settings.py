"""Settings of legalplatform, read only from the environment (django-environ); the README's
environment table lists every variable. Unset DATABASE_URL / REDIS_URL mean the embedded servers."""

from pathlib import Path

import environ

from legalplatform import anonymization, budget, config, embedded, logs, redis

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# --- Environment --------------------------------------------------------------------------------
APP_ENV = config.env_choice("APP_ENV", config.APP_ENVIRONMENTS, default="development")
PRODUCTION = APP_ENV == "production"
DEBUG = config.env_bool("DEBUG", default=APP_ENV == "development")
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    None if PRODUCTION else config.DEVELOPMENT_SECRET_KEY
)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and (
    problems := config.production_problems(
        secret_key=SECRET_KEY, debug=DEBUG, allowed_hosts=ALLOWED_HOSTS
    )
):
    raise config.ConfigurationError("APP_ENV=production refuses to start: " + "; ".join(problems))

DATA_DIR = Path(env.str("LEGALPLATFORM_DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()

# --- Applications -------------------------------------------------------------------------------
INSTALLED_APPS = [
    "legalplatform.apps.LegalPlatformAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    # Forms drawn from JSON Schemas for the admin's JSON columns (legalplatform/json_schema.py).
    "django_json_schema_editor",
    "core",
    "cases",
    "skills",
    "discovery",
    "ops",
]

MIDDLEWARE = [
    # The request id of every log record and response (legalplatform/logs.py).
    "legalplatform.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's static files, hashed, compressed and cached for good, with no other server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # 503 instead of 500 while PostgreSQL is down (legalplatform/unavailable.py).
    "legalplatform.unavailable.DatabaseOutageMiddleware",
    # Django's, answering 503 instead of 500 when Redis cannot serve the session.
    "legalplatform.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # When, from where and with what browser each signed-in session was last used.
    "legalplatform.session_activity.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "legalplatform.urls"
WSGI_APPLICATION = "legalplatform.wsgi.application"
ASGI_APPLICATION = "legalplatform.asgi.application"
AUTH_USER_MODEL = "cases.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "legalplatform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database (docs/schema.md, "Connection settings and Redis") -----------------------------
# The connection budget (legalplatform/budget.py): instances × processes × pool + reserve must
# fit in the limit. WEB_CONCURRENCY is gunicorn's number of workers (gunicorn.conf.py sets it).
DATABASE_MAX_CONNECTIONS = config.env_int("DATABASE_MAX_CONNECTIONS", 20, minimum=1)
DATABASE_INSTANCES = config.env_int("DATABASE_INSTANCES", 1, minimum=1, unit="instances")
WEB_CONCURRENCY = config.env_int("WEB_CONCURRENCY", 1, minimum=1, unit="processes")
DATABASE_OPS_RESERVE = config.env_int("DATABASE_OPS_RESERVE", 3, unit="connections")
DATABASE_POOL_SIZE = config.env_int(
    "DATABASE_POOL_SIZE",
    budget.default_pool_size(
        DATABASE_MAX_CONNECTIONS, DATABASE_OPS_RESERVE, DATABASE_INSTANCES * WEB_CONCURRENCY
    ),
    minimum=1,
    unit="connections",
)
# "pgbouncer": DATABASE_URL names PgBouncer in transaction pooling mode (legalplatform/db/
# pooler.py).
DATABASE_POOLER = config.env_choice("DATABASE_POOLER", config.POOLERS, default="none")
DATABASES = {
    "default": config.database_settings(
        env.str("DATABASE_URL", default="") or None,
        data_dir=DATA_DIR,
        pool_size=DATABASE_POOL_SIZE,
        wait_timeout_ms=config.env_int("DATABASE_CONNECTION_TIMEOUT", 30000, minimum=1, unit="ms"),
        idle_timeout_ms=config.env_int("DATABASE_IDLE_TIMEOUT", 10000, minimum=1, unit="ms"),
        statement_timeout_ms=config.env_int("DATABASE_STATEMENT_TIMEOUT", 60000, unit="ms"),
        ssl_mode=env.str("DATABASE_SSL_MODE", default="") or None,
        fail_fast_ms=config.env_int("DATABASE_FAIL_FAST", 2000, unit="ms"),
        pooler=DATABASE_POOLER,
    )
}
# PgBouncer's admin console (postgresql://user@host:6432/pgbouncer), optional: with it the
# project replaces PgBouncer's server connections itself (RECONNECT, KILL/RESUME around
# restore's swap) instead of asking the operator to (docs/production.md).
DATABASES["default"]["POOLER_ADMIN_URL"] = env.str("DATABASE_POOLER_ADMIN_URL", default="") or None
# The server itself, past PgBouncer, for work that needs a session of its own (migrate,
# migrate_undo, backup, restore, import_anonymized, reset_db): the alias "direct".
if _direct_url := env.str("DATABASE_DIRECT_URL", default=""):
    DATABASES["direct"] = {
        **config.database_settings(
            _direct_url,
            data_dir=DATA_DIR,
            pool_size=2,
            wait_timeout_ms=DATABASES["default"]["OPTIONS"]["pool"]["timeout"] * 1000,
            idle_timeout_ms=DATABASES["default"]["OPTIONS"]["pool"]["max_idle"] * 1000,
            statement_timeout_ms=DATABASES["default"]["STATEMENT_TIMEOUT_MS"],
            ssl_mode=env.str("DATABASE_SSL_MODE", default="") or None,
            variable="DATABASE_DIRECT_URL",
        ),
        # Restore's swap pauses PgBouncer's pool of the database it replaces.
        "POOLER_ADMIN_URL": DATABASES["default"]["POOLER_ADMIN_URL"],
        "TEST": {"MIRROR": "default"},
    }
# Read replicas (legalplatform/db/replicas.py): aliases replica1, replica2, … for the opted-in
# read-only work, each used while it is at most DATABASE_REPLICA_MAX_LAG seconds behind.
DATABASE_REPLICA_MAX_LAG = config.env_int("DATABASE_REPLICA_MAX_LAG", 5, unit="seconds")
for _number, _replica_url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    DATABASES[f"replica{_number}"] = {
        **config.database_settings(
            _replica_url,
            data_dir=DATA_DIR,
            pool_size=DATABASE_POOL_SIZE,
            wait_timeout_ms=DATABASES["default"]["OPTIONS"]["pool"]["timeout"] * 1000,
            idle_timeout_ms=DATABASES["default"]["OPTIONS"]["pool"]["max_idle"] * 1000,
            statement_timeout_ms=DATABASES["default"]["STATEMENT_TIMEOUT_MS"],
            ssl_mode=env.str("DATABASE_SSL_MODE", default="") or None,
            fail_fast_ms=DATABASES["default"]["FAIL_FAST_SECONDS"] * 1000,
            variable="DATABASE_REPLICA_URLS",
        ),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["legalplatform.db.replicas.ReplicaRouter"]
# Client programs (pg_dump, pg_restore) for a server named by URL; the embedded one brings its own.
PG_BIN_DIR = env.str("PG_BIN_DIR", default="") or None

# --- Redis: cache and sessions (legalplatform/redis.py, cache.py, sessions.py) -----------------
REDIS_URL = config.redis_url(env.str("REDIS_URL", default="") or None)
REDIS_EMBEDDED = REDIS_URL is None
_redis_url = REDIS_URL or embedded.valkey_url(DATA_DIR)
_redis_options = redis.cache_options(
    _redis_url,
    max_connections=config.env_int("REDIS_MAX_CONNECTIONS", 50, minimum=1, unit="connections"),
    connect_timeout_ms=config.env_int("REDIS_CONNECT_TIMEOUT", 2000, minimum=1, unit="ms"),
    socket_timeout_ms=config.env_int("REDIS_SOCKET_TIMEOUT", 2000, minimum=1, unit="ms"),
    retries=config.env_int("REDIS_RETRIES", 1, unit="retries"),
    retry_backoff_ms=config.env_int("REDIS_RETRY_BACKOFF", 50, minimum=1, unit="ms"),
    tls_ca_certs=env.str("REDIS_TLS_CA_CERTS", default="") or None,
    tls_cert_reqs=config.env_choice("REDIS_TLS_CERT_REQS", redis.TLS_CERT_REQS, "required"),
    sentinel_password=env.str("REDIS_SENTINEL_PASSWORD", default=""),
)
# With Sentinel, cache reads may go to a replica (sessions never do: always the primary).
REDIS_READ_FROM_REPLICAS = config.env_bool("REDIS_READ_FROM_REPLICAS", False)
_redis_cache_options = redis.read_from_replicas(_redis_options, REDIS_READ_FROM_REPLICAS)
# Both aliases share the server and its pool. Keys are `cache:{service}:{entity}:{id}` and
# `session:{session id}` at the default cache version, `cache@v{n}:…` at another
# (legalplatform.redis.make_key).
_redis_cache = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": redis.cache_location(_redis_url),
    "OPTIONS": _redis_options,
    "KEY_FUNCTION": "legalplatform.redis.make_key",
    "REVERSE_KEY_FUNCTION": "legalplatform.redis.reverse_key",
}
CACHES = {
    "default": {
        **_redis_cache,
        "OPTIONS": _redis_cache_options,
        "KEY_PREFIX": "cache",
        "TIMEOUT": 300,
    },
    "sessions": {**_redis_cache, "KEY_PREFIX": "session", "TIMEOUT": 24 * 60 * 60},
}
# Starts the embedded Valkey on the first connection when REDIS_URL is unset.
DJANGO_REDIS_CONNECTION_FACTORY = "legalplatform.redis.ConnectionFactory"
# SCAN batch size of pattern invalidation (django-redis's default of 10 means a round trip per
# 10 keys of the whole keyspace).
DJANGO_REDIS_SCAN_ITERSIZE = 1000

# Django's sessions in Redis under `session:`, indexed per user (legalplatform.sessions).
SESSION_ENGINE = "legalplatform.sessions"
SESSION_CACHE_ALIAS = "sessions"
SESSION_COOKIE_AGE = CACHES["sessions"]["TIMEOUT"]

# --- Internationalization and static files ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/Bucharest"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Filled by `manage.py collectstatic --noinput`, the deploy step before the server starts.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Outside development: names with a hash of the content, gzip variants beside them, so
    # that WhiteNoise can let browsers cache them for ten years.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if APP_ENV == "development"
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development WhiteNoise serves the apps' files as they are, no collectstatic needed.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = APP_ENV == "development"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security (production) ----------------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = config.env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if config.env_bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe health over plain HTTP: 200 or 503, never a redirect to https.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/|$)"]

# --- Health (legalplatform/health.py) -------------------------------------------------------------
# Seconds a readiness probe waits for PostgreSQL and Redis before it answers 503.
HEALTH_TIMEOUT = config.env_int("HEALTH_TIMEOUT", 1500, minimum=1, unit="ms") / 1000
# Who sees error texts and details besides staff: monitors' addresses or networks.
HEALTH_DETAIL_NETWORKS = config.env_networks(
    "HEALTH_DETAIL_NETWORKS", "127.0.0.0/8,::1" if APP_ENV == "development" else ""
)

# --- Embeddings for semantic search of documents (cases app) ------------------------------------
# An OpenAI-compatible endpoint is used when both its URL and key are set; otherwise the local
# hashing embedder, which needs no network. EMBEDDER (a dotted path) overrides the choice.
EMBEDDING_API_URL = env.str("EMBEDDING_API_URL", default="")
EMBEDDING_API_KEY = env.str("EMBEDDING_API_KEY", default="")
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="text-embedding-3-small")
EMBEDDING_API_TIMEOUT = config.env_int("EMBEDDING_API_TIMEOUT", 30, minimum=1, unit="seconds")
EMBEDDING_BATCH_SIZE = config.env_int("EMBEDDING_BATCH_SIZE", 64, minimum=1, unit="documents")
EMBEDDER = env.str("EMBEDDER", default="") or (
    "cases.embeddings.OpenAIEmbedder"
    if EMBEDDING_API_URL and EMBEDDING_API_KEY
    else "cases.embeddings.HashingEmbedder"
)
# Roles (Partner, Associate, Paralegal) grant the permissions of the Django group of that name.
AUTHENTICATION_BACKENDS = ["cases.backends.RoleBackend"]

# --- Logs and error reporting (legalplatform/logs.py) --------------------------------------------
# LOG_FORMAT json or text (the default in development); LOG_LEVEL, e.g. WARNING,legalplatform=INFO.
LOGGING = logs.environment_logging_config()
# Unhandled errors reported to Sentry when SENTRY_DSN is set (never personal data).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_TRACES_SAMPLE_RATE = config.env_fraction("SENTRY_TRACES_SAMPLE_RATE", 0.0)
if SENTRY_DSN:
    logs.init_error_reporting(
        SENTRY_DSN, environment=APP_ENV, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE
    )

# --- Backups (manage.py backup / backups / restore; ops/backup/create.py) ---------------------
# Where backups are written and listed; created owner-only (0700) when missing.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups"))).resolve()
# Backups of this APP_ENV older than this many days are pruned after each backup; 0 keeps all.
BACKUP_RETENTION_DAYS = config.env_int("BACKUP_RETENTION_DAYS", 30, unit="days")
# Encrypt every backup (also the safety backup a restore takes) to BACKUP_AGE_RECIPIENT.
BACKUP_ENCRYPT = config.env_bool("BACKUP_ENCRYPT", default=False)
# age public key(s) `age1…` to encrypt to; age secret key(s) `AGE-SECRET-KEY-1…` to decrypt with.
BACKUP_AGE_RECIPIENT = env.str("BACKUP_AGE_RECIPIENT", default="")
BACKUP_AGE_IDENTITY = env.str("BACKUP_AGE_IDENTITY", default="")

# --- Off-site copies (S3 or Cloudflare R2; ops/backup/offsite.py) ------------------------------
# s3://bucket/prefix: every backup goes there too, verified against its manifest; "" keeps
# backups on this machine only. BACKUP_S3_ENDPOINT_URL names R2 or another S3-compatible store.
BACKUP_STORAGE_URL = config.storage_url("BACKUP_STORAGE_URL")
BACKUP_S3_ENDPOINT_URL = env.str("BACKUP_S3_ENDPOINT_URL", default="")
# Off-site backups are age-encrypted unless this is true.
BACKUP_ALLOW_PLAINTEXT_OFFSITE = config.env_bool("BACKUP_ALLOW_PLAINTEXT_OFFSITE", default=False)
# Multipart upload: part size (S3's minimum is 5 MiB) and parts in flight; memory is about
# their product. "auto" verifies by the store's SHA-256 checksum where it has one, else by reading
# the object back; "read-back" always reads it back.
BACKUP_S3_PART_SIZE_MB = config.env_int("BACKUP_S3_PART_SIZE_MB", 16, minimum=5, unit="MiB")
BACKUP_S3_CONCURRENCY = config.env_int("BACKUP_S3_CONCURRENCY", 4, minimum=1, unit="parts")
BACKUP_S3_VERIFY = config.env_choice("BACKUP_S3_VERIFY", ("auto", "read-back"), default="auto")
# The usual AWS variables (for R2: an API token's key pair, region "auto"); never printed.
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_SESSION_TOKEN = env.str("AWS_SESSION_TOKEN", default="")
AWS_REGION = env.str("AWS_REGION", default="") or env.str("AWS_DEFAULT_REGION", default="us-east-1")

# --- Anonymization (manage.py anonymize, import_anonymized; ops/anonymization/run.py) ---------
# table -> column -> strategy for every text column of every table (legalplatform/anonymization.py
# explains the strategies); a table mapped to "delete" loses all its rows.
ANONYMIZATION = anonymization.ANONYMIZATION
# Any of these (comma-separated) in the database URL, host or name also marks production.
ANONYMIZATION_REFUSE_PATTERNS = tuple(
    pattern.strip()
    for pattern in env.str("ANONYMIZATION_REFUSE_PATTERNS", default="").split(",")
    if pattern.strip()
)
