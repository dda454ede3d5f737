from __future__ import annotations

import pytest

from gateway.routing.resolve import resolve
from quantgate.errors import ModelNotFound
from quantgate.profile import Profile


def test_model_starts_at_default_then_climbs_the_precision_ladder(profile: Profile) -> None:
    route = resolve(profile, "demo")
    assert route.variants == ("w4", "w8", "ref")
    assert not route.pinned


def test_less_precise_variants_come_last(profile: Profile) -> None:
    changed = profile.model_copy(update={"default_variant": "w8"})
    assert resolve(changed, "demo").variants == ("w8", "ref", "w4")


def test_pinned_variant_has_no_fallback(profile: Profile) -> None:
    route = resolve(profile, "demo@w8")
    assert route.variants == ("w8",)
    assert route.pinned


@pytest.mark.parametrize("model", ["other", "demo@", "demo@w3", "other@w8", "DEMO"])
def test_unknown_names_raise_model_not_found(profile: Profile, model: str) -> None:
    with pytest.raises(ModelNotFound) as info:
        resolve(profile, model)
    assert info.value.status == 404
    assert info.value.param == "model"
