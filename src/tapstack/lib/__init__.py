"""Pure helpers: no resources are created and no AWS client is touched here."""
