"""Storage: the models, the database (engine, migrations) and ``repo``, where all SQL lives."""
