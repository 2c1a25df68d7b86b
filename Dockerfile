FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 worksible
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
# The package serves the changelog through src/worksible_api/CHANGELOG.md, a link to this file.
COPY docs/CHANGELOG.md ./docs/CHANGELOG.md
COPY migrations ./migrations
RUN pip install -e .

USER worksible
EXPOSE 8000
# Production names its servers: DATABASE_URL and REDIS_URL must be set.
CMD ["worksible-api", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
