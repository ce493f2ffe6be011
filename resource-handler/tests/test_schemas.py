"""The resource schemas say what Occopus 1.10 required and allowed for each cloud
(and what the two backends without a cloud account take)."""
import unittest

from occo.resourcehandler.azure.vm import PLUGIN as AZURE_VM
from occo.resourcehandler.docker.schema import DOCKER
from occo.resourcehandler.plugins import PLUGINS
from occo.util.plugins import registered as entries
from occo.util.schema import Problems, check

# type: (required keys, optional keys), as the original's schema checkers had them
ORIGINAL = {
    "ec2": ({"endpoint", "regionname", "image_id", "instance_type"},
            {"key_name", "security_group_ids", "subnet_id", "name", "tags"}),
    "nova": ({"endpoint", "image_id", "flavor_name", "project_id"},
             {"server_name", "key_name", "security_groups", "floating_ip", "floating_ip_pool",
              "network_id", "region_name", "user_domain_name", "volume_size", "volume_persist",
              "tenant_name", "name"}),
    "azure_vm": ({"endpoint", "resource_group", "location", "vm_size", "publisher", "offer", "sku",
                  "version", "username"},
                 {"public_ip_needed", "vnet_name", "subnet_name", "customdata", "server_name",
                  "password", "ssh_key_data", "name", "nic_name"}),
    "azure_aci": ({"endpoint", "resource_group", "location", "cpu_cores", "memory", "image",
                   "os_type", "network_type"},
                  {"gpu_type", "gpu_count", "ports", "vnet_name", "subnet_name", "name"}),
    "cloudbroker": ({"endpoint", "description"}, {"name", "start_in_vpc"}),
    "cloudsigma": ({"endpoint", "libdrive_id", "description"}, {"name"}),
    "simcloud": ({"endpoint"}, {"name", "image", "flavor", "tags"}),
    "local": (set(), {"name", "workdir", "address_range"}),
    # new in this release: machines that already exist, reached over SSH
    "hosts": ({"pool"}, {"name", "host_keys"}),
    "docker": ({"endpoint", "origin", "image", "tag"}, {"name"}),
    # new in this release, not the original's: any Libcloud compute driver
    "libcloud": ({"driver", "image", "size"},
                 {"name", "driver_args", "region", "location", "server_name", "create_args"}),
}


# the keys that say which backend a section reaches: one handler per distinct value
CONNECTION = {"ec2": {"endpoint", "regionname"}, "nova": {"endpoint", "project_id",
              "region_name", "user_domain_name"}, "azure_vm": {"endpoint"},
              "azure_aci": {"endpoint"}, "cloudbroker": {"endpoint"}, "cloudsigma": {"endpoint"},
              "simcloud": {"endpoint"}, "local": {"workdir", "address_range"},
              "hosts": {"pool", "host_keys"},
              "docker": {"endpoint"}, "libcloud": {"driver", "driver_args", "region"}}


def registered():
    return {name: entry.load().schema for name, entry in entries(PLUGINS).items()}


class ResourceSchemaTest(unittest.TestCase):
    def test_every_original_type_is_registered(self):
        self.assertEqual(set(registered()), set(ORIGINAL))

    def test_required_and_optional_keys_match_the_original(self):
        for type_name, schema in registered().items():
            required, optional = ORIGINAL[type_name]
            with self.subTest(type_name):
                self.assertEqual(set(schema.required), required | {"type"})
                self.assertEqual(set(schema.fields) - set(schema.required), optional)

    def test_the_connection_keys_are_the_endpoint_and_where_it_is(self):
        for type_name, schema in registered().items():
            with self.subTest(type_name):
                self.assertEqual(set(schema.connection_keys), CONNECTION[type_name] | {"name"})

    def test_a_bare_section_is_missing_every_required_key(self):
        for type_name, schema in registered().items():
            problems = Problems()
            check({"type": type_name}, schema, "resource", problems)
            missing = {p.message.split("'")[1] for p in problems if p.message.startswith("missing")}
            with self.subTest(type_name):
                self.assertEqual(missing, ORIGINAL[type_name][0])

    def test_azure_vm_needs_a_password_or_an_ssh_key(self):
        section = {key: "x" for key in ORIGINAL["azure_vm"][0]} | {"type": "azure_vm"}
        problems = Problems()
        check(section, AZURE_VM.schema, "resource", problems)
        self.assertEqual([p.message for p in problems],
                         ["resource needs one of: password, ssh_key_data"])
        problems = Problems()
        check(section | {"ssh_key_data": "ssh-ed25519 AAAA"}, AZURE_VM.schema, "resource", problems)
        self.assertEqual(problems, [])

    def test_docker_network_mode_is_no_longer_accepted(self):
        problems = Problems()
        check({"type": "docker", "endpoint": "e", "origin": "local", "image": "i", "tag": "t",
               "network_mode": "host"}, DOCKER, "resource", problems)
        self.assertEqual([p.message for p in problems], ["unknown key 'network_mode' in resource"])
