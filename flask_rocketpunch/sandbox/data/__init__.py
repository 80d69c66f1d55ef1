"""The sandbox's sample data, one module per resource area: companies,
posts, jobs, events and the code catalogs. Plain values, copied into each
provider's :class:`~flask_rocketpunch.sandbox.catalog.Catalog`, where tests
may change them."""
