"""The ``slow`` marker stays true: ``python -m pytest -m "not slow"`` never runs a recipe.

A recipe's ``--quick`` run (the ``quick_run`` fixture in ``conftest.py``) costs
seconds (recipe 17 about 20 s); every test that needs one is marked ``slow``. A new
test that uses it unmarked would quietly make the fast selection slow again.
"""


def test_every_test_that_needs_a_recipe_run_is_marked_slow(request):
    """No selected test reaches ``quick_run`` (directly or through a fixture) without the ``slow`` mark."""
    unmarked = [
        item.nodeid
        for item in request.session.items
        if "quick_run" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None
    ]
    assert unmarked == [], "add @pytest.mark.slow (or a module-level pytestmark) to: " + ", ".join(unmarked)
