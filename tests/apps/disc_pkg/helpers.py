"""Imported relatively by disc_pkg.inner: works only if inner is imported as disc_pkg.inner."""


def add_inner_route(app):
    app.add_url_rule("/package-inner", "package_inner", lambda: "inner")
