"""What a viewer is shown of where a dataset's resources live.

A resource's `url` is the department's upstream address: the portal proxies it for open
data and for grants. For a dataset that is not open (有条件开放, 不予开放, or of a 核心 /
重要 grade) it may be an internal address, so only the publishing department's officers
and the authority see it (`visibility.may_see_upstream`, the one rule); anyone else gets
the portal's own page of the dataset in its place, where one applies for the data.

Every serializer (REST, CKAN, DCAT-AP, DCAT-US, the pages) shows resource URLs through a
`Disclosure`, never by reading `Resource.url` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Dataset, Resource
from ..visibility import PUBLIC, Viewer, may_see_upstream
from .dcat_public import dataset_page
from .documents import dataset_document


@dataclass(frozen=True)
class Disclosure:
    """Resource URLs as `viewer` may see them; `base_url` is the portal's own address."""

    viewer: Viewer
    base_url: str

    def reveals(self, dataset: Dataset) -> bool:
        return may_see_upstream(self.viewer, dataset)

    def upstream(self, dataset: Dataset, resource: Resource) -> str | None:
        """The resource's upstream URL if the viewer may see it, else None."""
        return resource.url if resource.url and self.reveals(dataset) else None

    def url(self, dataset: Dataset, resource: Resource) -> str | None:
        """What to show as the resource's URL: the upstream one, or the portal's page of
        the dataset in its place (None: the resource has no URL)."""
        if not resource.url:
            return None
        return self.upstream(dataset, resource) or self.stand_in(dataset)

    def stand_in(self, dataset: Dataset) -> str:
        return dataset_page(self.base_url, dataset.name)

    def document(self, dataset: Dataset) -> dict[str, Any]:
        """The dataset's profile document, with resource URLs as the viewer may see them."""
        document = dataset_document(dataset)
        if not self.reveals(dataset):
            for item in document["resources"]:
                if item.get("url"):
                    item["url"] = self.stand_in(dataset)
        return document


def public_disclosure(base_url: str) -> Disclosure:
    return Disclosure(PUBLIC, base_url)
