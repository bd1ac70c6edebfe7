"""Receivers on django-helpdesk's signals. Thin: each calls into the service layer."""
