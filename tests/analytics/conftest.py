import pytest

from .dataset import build_dataset


@pytest.fixture
def dataset(world_a, world_b):
    return build_dataset(world_a, world_b)
