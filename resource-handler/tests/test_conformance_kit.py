"""The conformance kit fails plugins that break the contract, and skips what it cannot check.

Each case runs kit tests against a simcloud plugin with one rule broken on
purpose; the real plugin passes the whole kit (test_simcloud_conformance).
"""
from __future__ import annotations

import dataclasses
import unittest
import uuid

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import (INFRA_TAG, Instance, PermanentError, ResourceStatus,
                                       TransientError)
from occo.resourcehandler.simcloud.plugin import SimCloudHandler

from occo.resourcehandler.conformance import ResourceHandlerConformance
from .simcloud_support import SimCloudCase


class NewTokenEachTime(SimCloudHandler):
    def _create_request(self, node):
        return dict(super()._create_request(node), client_token=uuid.uuid4().hex)


class TagsNothing(SimCloudHandler):
    def _create_request(self, node):
        return dict(super()._create_request(node), tags={})

    def _made(self, request, result):
        return Instance(self.infra_id, self.node_id, result["instance"]["id"])

    def create_nodes(self, nodes):
        self.infra_id, self.node_id = nodes[0].infra_id, nodes[0].node_id
        return super().create_nodes(nodes)


class MissingIsAnError(SimCloudHandler):
    def drop_node(self, instance):
        self._call("DELETE", f"/instances/{instance.instance_id}")


class CloudStates(SimCloudHandler):
    def _status(self, item):
        return ResourceStatus(item["state"])


class ListsTheDead(SimCloudHandler):
    def list_owned(self, infra_id):
        found = self._call("GET", "/instances", params={f"tag.{INFRA_TAG}": infra_id})
        return [Instance(infra_id, item["tags"]["occopus-node-id"], item["id"])
                for item in found["instances"]]


class BatchOutOfOrder(SimCloudHandler):
    def create_nodes(self, nodes):
        return super().create_nodes(nodes)[::-1]


class ChangesTheNode(SimCloudHandler):
    def _create_request(self, node):
        node.resource.setdefault("image", "chosen-by-the-plugin")
        return super()._create_request(node)


class CostlessButAsked(SimCloudHandler):
    capabilities = dataclasses.replace(SimCloudHandler.capabilities, costs=False)


class NeverTransient(SimCloudHandler):
    def _call(self, *args, **kwargs):
        try:
            return super()._call(*args, **kwargs)
        except TransientError as error:
            raise PermanentError(error.message) from None


class KitTest(SimCloudCase):
    def run_kit(self, plugin: type[SimCloudHandler], test_name: str,
                faults: bool = True) -> unittest.TestResult:
        cloud = self.cloud

        class Run(ResourceHandlerConformance, unittest.TestCase):
            READY_TIMEOUT = 5.0

            def make_handler(self):
                return plugin.for_section(cloud.resource())

            def make_node(self, infra_id, node_id):
                return ResolvedNode(infra_id, "kit", "u", node_id, "web", cloud.resource())

            def inject_fault(self, kind):
                if faults:
                    cloud.fail_next({"rate_limit": 429, "bad_request": 400}[kind])
                return faults
        result = unittest.TestResult()
        Run(test_name).run(result)
        return result

    def assert_fails(self, plugin: type[SimCloudHandler], *test_names: str) -> None:
        for test_name in test_names:
            with self.subTest(plugin=plugin.__name__, test=test_name):
                result = self.run_kit(plugin, test_name)
                self.assertEqual(len(result.failures) + len(result.errors), 1,
                                 f"the kit let {plugin.__name__} pass {test_name}")

    def test_the_real_plugin_passes_the_tests_used_below(self):
        for test_name in ("test_creating_a_node_twice_makes_one_resource",
                          "test_a_resource_is_tagged_with_its_infrastructure_when_created",
                          "test_dropping_a_missing_resource_succeeds",
                          "test_a_resource_becomes_ready_and_is_shutdown_after_drop",
                          "test_only_live_resources_are_listed",
                          "test_a_rate_limit_is_a_transient_error",
                          "test_create_nodes_answers_each_node_in_order",
                          "test_a_create_changes_nothing_it_is_given",
                          "test_costs_are_told_only_where_declared"):
            with self.subTest(test_name):
                result = self.run_kit(SimCloudHandler, test_name)
                self.assertTrue(result.wasSuccessful(), result.failures + result.errors)

    def test_a_second_resource_for_a_node_fails(self):
        self.assert_fails(NewTokenEachTime, "test_creating_a_node_twice_makes_one_resource",
                          "test_concurrent_creates_of_a_node_make_one_resource")

    def test_a_resource_not_tagged_when_created_fails(self):
        self.assert_fails(TagsNothing,
                          "test_a_resource_is_tagged_with_its_infrastructure_when_created")

    def test_an_error_for_a_missing_resource_fails(self):
        self.assert_fails(MissingIsAnError, "test_dropping_a_missing_resource_succeeds")

    def test_states_that_are_not_node_states_fail(self):
        self.assert_fails(CloudStates, "test_a_resource_becomes_ready_and_is_shutdown_after_drop")

    def test_listing_dropped_resources_fails(self):
        self.assert_fails(ListsTheDead, "test_only_live_resources_are_listed",
                          "test_dropping_a_resource_again_succeeds")

    def test_creates_in_one_call_answered_out_of_order_fail(self):
        self.assert_fails(BatchOutOfOrder,
                          "test_create_nodes_answers_each_node_in_order")

    def test_a_plugin_that_changes_the_node_it_is_given_fails(self):
        self.assert_fails(ChangesTheNode, "test_a_create_changes_nothing_it_is_given")

    def test_costs_told_by_a_plugin_that_declares_none_fail(self):
        self.assert_fails(CostlessButAsked, "test_costs_are_told_only_where_declared")

    def test_a_rate_limit_reported_as_permanent_fails(self):
        self.assert_fails(NeverTransient, "test_a_rate_limit_is_a_transient_error")

    def test_without_a_fault_hook_the_fault_tests_are_skipped_not_passed(self):
        for test_name in ("test_a_rate_limit_is_a_transient_error",
                          "test_a_bad_request_is_a_permanent_error"):
            with self.subTest(test_name):
                result = self.run_kit(SimCloudHandler, test_name, faults=False)
                self.assertEqual(len(result.skipped), 1)
                self.assertIn("cannot inject", result.skipped[0][1])
