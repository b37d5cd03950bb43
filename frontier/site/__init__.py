"""The static frontier site: build from the warehouse marts, publish atomically.

``publish(warehouse_root, site_dir, *, run_id=None) -> Path`` (index.html of the live site);
``publish_data(SiteData, site_dir, ...)`` for callers that already hold the DataFrames.
"""

from frontier.site.data import SiteData, load_site_data
from frontier.site.publish import publish, publish_data

__all__ = ["SiteData", "load_site_data", "publish", "publish_data"]
