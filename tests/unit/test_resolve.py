from __future__ import annotations

import pytest

from gateway.routing.resolve import pinned_variant
from quantgate.errors import ModelNotFound
from quantgate.profile import Profile


def test_the_model_name_means_automatic_routing(profile: Profile) -> None:
    assert pinned_variant(profile, "demo") is None


def test_model_at_variant_pins_it(profile: Profile) -> None:
    assert pinned_variant(profile, "demo@w8") == "w8"


@pytest.mark.parametrize("model", ["other", "demo@", "demo@w3", "other@w8", "DEMO"])
def test_unknown_names_raise_model_not_found(profile: Profile, model: str) -> None:
    with pytest.raises(ModelNotFound) as info:
        pinned_variant(profile, model)
    assert info.value.status == 404
    assert info.value.param == "model"
