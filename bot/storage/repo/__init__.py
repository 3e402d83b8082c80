"""All the SQL of the project, one module per table family.

Every function takes the SQLAlchemy ``Session`` first and never commits: the services own the
transactions. Rows are read through the models' columns, by name, so their types (aware UTC
times through ``UTCDateTime``) apply.
"""
