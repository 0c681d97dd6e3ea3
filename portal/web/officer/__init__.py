"""The data officer's workspace, one module a page group: the department's catalog with
its grading suggestions (`department_catalog`), the dataset form (`dataset_form`) and the
harvest sources with their jobs (`harvest_sources`). `portal/web/__init__.py` imports
each, so that their routes join the pages' blueprint.

Every write goes through the stewardship service, as the API's do: the same rights, the
same validation and the same rule that a downgrade of openness waits for the platform
authority.
"""
