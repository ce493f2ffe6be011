"""A hybrid infrastructure end to end: one description whose nodes live on four backends.

The description (written here in the tutorials' style: node definitions with a
resource and a contextualisation each, cloud-init files imported with
`!yaml_import`) has a database `db` on OpenStack (the FAKE `FakeOpenStack` of
`occo.resourcehandler.nova.testing`), an application `app` on EC2 (moto's EC2
server, an account on its loopback VPC, `occo.resourcehandler.ec2.testing`)
that depends on `db`, a front end `web` on the checkout's real Docker engine
that depends on `app`, and a `monitor` on CloudSigma (the FAKE
`FakeCloudSigma` of `occo.resourcehandler.cloudsigma.testing`) that depends
on `web` and `db`. Each dependant's contextualisation renders its
dependencies' addresses with `getip()`, as the ping tutorials do, so a node
made before its dependency was ready would carry no address, or a wrong one.

`~/.occopus/auth_data.yaml` has one entry a cloud (docker needs none). The
real commands build it (`occopus-build`), list and report it
(`occopus-maintain -l`, `-r`) and destroy it (`occopus-destroy`); the test
looks at each cloud between them: each holds exactly its own nodes, tagged
with the infrastructure, node id and owner, at the address the table shows,
and nothing of the infrastructure once it is destroyed. The creation order is
checked from the store's event log (each node's `nodecreating` after its
dependencies' `nodecreated`) and the stored records (created after the
dependencies were ready), never from durations.

The nodes the engine pings (every one but `web`, whose tutorial says
`ping: false`) have addresses on 127.0.0.0/8: nova's floating IPs
(127.79.0.0/16), the moto account's subnet (127.77.1.0/24) and CloudSigma's
(127.88.0.0/16) are answered by this machine and reach no other host.
"""
from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from docker.errors import NotFound

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.cloudsigma import testing as sigma
from occo.resourcehandler.docker import testing as docker_testing
from occo.resourcehandler.ec2.testing import CREDENTIALS, LOOPBACK, MotoTestCase, tutorial_values
from occo.resourcehandler.nova import testing as nova

from .support import CommandCase, wait_until

OWNER = "somebody@somewhere.com"
INFRA_NAME = "hybrid-infra"
WEB_IMAGE = "occopus_hybrid_web"       # the test's own image, so no other test removes it
TAGS = (INFRA_TAG, NODE_TAG, OWNER_TAG)
# what depends on what: the dependant, then the nodes it waits for
DEPENDENCIES = {"app": ("db",), "web": ("app",), "monitor": ("web", "db")}
CLOUD_OF = {"db": "nova", "app": "ec2", "web": "docker", "monitor": "cloudsigma"}
AUTH_DATA = f"""\
resource:
  -
    type: ec2
    auth_data:
      accesskey: {CREDENTIALS["accesskey"]}
      secretkey: {CREDENTIALS["secretkey"]}
  -
    type: nova
    auth_data:
      username: {nova.USER["username"]}
      password: {nova.USER["password"]}
  -
    type: cloudsigma
    auth_data:
      email: {sigma.CREDENTIALS["email"]}
      password: {sigma.CREDENTIALS["password"]}
"""
SECRETS = (*CREDENTIALS.values(), nova.USER["password"], sigma.CREDENTIALS["password"])

INFRA = f"""\
infra_name: {INFRA_NAME}
user_id: {OWNER}

nodes:
  - &DB
    name: db
    type: hybrid_db_node
    variables:
      message: "Hello World! I am the database, on OpenStack."
  - &APP
    name: app
    type: hybrid_app_node
  - &WEB
    name: web
    type: hybrid_web_node
  - &MON
    name: monitor
    type: hybrid_monitor_node

dependencies:
  - connection: [ *APP, *DB ]
  - [ *WEB, *APP ]
  - [ *MON, *WEB ]
  - [ *MON, *DB ]
"""
CLOUD_INIT_DB = """\
#cloud-config
write_files:
- content: "{{variables.message}}\\n"
  path: /tmp/message.txt
  permissions: '0644'
"""
CLOUD_INIT_APP = """\
#cloud-config
runcmd:
    - ping {{getip('db')}} -c 5 > /tmp/ping-db.txt 2>&1
write_files:
- content: "database={{getip('db')}}\\n"
  path: /etc/app.conf
  permissions: '0644'
"""
CLOUD_INIT_MONITOR = """\
#cloud-config
runcmd:
    - ping {{getip('web')}} -c 5 > /tmp/ping-web.txt 2>&1
    - ping {{getip('db')}} -c 5 > /tmp/ping-db.txt 2>&1
"""
NODE_DEFINITIONS = """\
'node_def:hybrid_db_node':
  -
    resource:
      type: nova
      endpoint: {nova[endpoint]}
      project_id: {nova[project_id]}
      user_domain_name: Default
      image_id: {nova[image_id]}
      network_id: {nova[network_id]}
      flavor_name: {nova[flavor_name]}
      server_name: hybrid-db
      key_name: {nova[key_name]}
      security_groups:
        -
          {nova[security_group]}
      floating_ip: {nova[floating_ip]}
      floating_ip_pool: {nova[floating_ip_pool]}
    contextualisation:
      type: cloudinit
      context_template: !yaml_import
        url: file://cloud_init_db.yaml
'node_def:hybrid_app_node':
  -
    resource:
      name: my_ec2_cloud
      type: ec2
      endpoint: {ec2[endpoint]}
      regionname: {ec2[regionname]}
      image_id: {ec2[image_id]}
      instance_type: {ec2[instance_type]}
      key_name: {ec2[key_name]}
      security_group_ids:
        -
          {ec2[security_group_ids][0]}
        -
          {ec2[security_group_ids][1]}
      subnet_id: {ec2[subnet_id]}
    contextualisation:
      type: cloudinit
      context_template: !yaml_import
        url: file://cloud_init_app.yaml
'node_def:hybrid_web_node':
  -
    resource:
      type: docker
      endpoint: {docker_endpoint}
      origin: {web_origin}
      image: {web_image}
      tag: latest
    contextualisation:
      type: docker
      env: ["message=web in front of app {{{{getip('app')}}}}"]
      command: "sh -c /root/start.sh"
    health_check:
      ping: False
'node_def:hybrid_monitor_node':
  -
    resource:
      name: my_cloudsigma_cloud
      type: cloudsigma
      endpoint: {sigma[endpoint]}
      libdrive_id: {sigma[libdrive_id]}
      description:
        cpu: 2000
        mem: 1073741824
        vnc_password: secret
        pubkeys:
          -
            {sigma[pubkey_id]}
        nics:
          -
            firewall_policy: {sigma[firewall_policy_id]}
            ip_v4_conf:
              conf: dhcp
    contextualisation:
      type: cloudinit
      context_template: !yaml_import
        url: file://cloud_init_monitor.yaml
"""


class HybridInfrastructureTest(CommandCase, MotoTestCase):
    """moto (`server`), the nova and CloudSigma fakes and the Docker engine, started once for
    the class; each test its own moto account, credentials, store and infrastructure.
    The class has one test: what the clouds other than the engine hold is its alone."""

    openstack: ClassVar[nova.FakeOpenStack]
    cloudsigma: ClassVar[sigma.FakeCloudSigma]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        docker_testing.engine()         # started once, or skipped or failed saying why
        cls.openstack = nova.FakeOpenStack(boot_seconds=0.3).start()
        cls.addClassCleanup(cls.openstack.stop)
        cls.cloudsigma = sigma.FakeCloudSigma(clone_time=0.1, boot_time=0.3,
                                              stop_time=0.1).start()
        cls.addClassCleanup(cls.cloudsigma.stop)
        cls.addClassCleanup(cls.remove_web_image)

    @classmethod
    def remove_web_image(cls) -> None:
        with docker_testing.client() as client:
            try:
                client.remove_image(f"{WEB_IMAGE}:latest", force=True)
            except NotFound:
                pass

    def setUp(self) -> None:
        super().setUp()
        self.use_config()
        self.use_auth_data(AUTH_DATA)
        self.ec2 = self.server.client()
        self.addCleanup(self.ec2.close)
        self.docker = docker_testing.client()
        self.addCleanup(self.docker.close)
        self.infra_ids: list[str] = []
        self.addCleanup(self.remove_containers_left)     # after a destroy that failed
        self.ec2_values = tutorial_values(self.server.url, network=LOOPBACK)
        self.nova_values = self.openstack.tutorial_values()
        self.sigma_values = self.cloudsigma.tutorial_values()

    def run_command(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """As `CommandCase.run_command`; no credential ever appears in what it prints."""
        result = super().run_command(name, *args, **kwargs)
        for secret in SECRETS:
            self.assertNotIn(secret, result.stdout + result.stderr, f"{name} printed a secret")
        return result

    def write_description(self) -> Path:
        """The node definitions and cloud-init files in `nodes/`, imported; the
        infrastructure description's path."""
        tarball = docker_testing.image_tarball(WEB_IMAGE, docker_testing.TUTORIAL_IMAGES[
            "busybox_helloworld"])
        definitions = self.write("hybrid/nodes/node_definitions.yaml", NODE_DEFINITIONS.format(
            nova=self.nova_values, ec2=self.ec2_values, sigma=self.sigma_values,
            docker_endpoint=docker_testing.endpoint("unix"), web_image=WEB_IMAGE,
            web_origin=docker_testing.image_server().url(tarball.name)))
        self.write("hybrid/nodes/cloud_init_db.yaml", CLOUD_INIT_DB)
        self.write("hybrid/nodes/cloud_init_app.yaml", CLOUD_INIT_APP)
        self.write("hybrid/nodes/cloud_init_monitor.yaml", CLOUD_INIT_MONITOR)
        imported = self.run_command("occopus-import", definitions, code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        return self.write("hybrid/infra-hybrid.yaml", INFRA)

    # --- the clouds ------------------------------------------------------------
    def nova_servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.openstack.live_servers()
                if server["metadata"].get(INFRA_TAG) == infra_id]

    def nova_floating_ips(self, infra_id: str) -> list[dict[str, Any]]:
        return [ip for ip in self.openstack.floating_ips.values()
                if ip["description"].startswith(f"occopus {infra_id} ")]

    def ec2_instances(self, infra_id: str) -> list[dict[str, Any]]:
        """The instances tagged with the infrastructure that are not (being) terminated."""
        pages = self.ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": f"tag:{INFRA_TAG}", "Values": [infra_id]}])
        return [item for page in pages for reservation in page["Reservations"]
                for item in reservation["Instances"]
                if item["State"]["Name"] not in ("shutting-down", "terminated")]

    def containers(self, infra_id: str) -> list[dict[str, Any]]:
        listed = self.docker.containers(all=True, filters={"label": [f"{INFRA_TAG}={infra_id}"]})
        return [self.docker.inspect_container(item["Id"]) for item in listed]

    def sigma_servers(self, infra_id: str) -> list[dict[str, Any]]:
        return [server for server in self.cloudsigma.servers()
                if server["meta"].get(INFRA_TAG) == infra_id]

    def remove_containers_left(self) -> None:
        """A cleanup: the containers of a build or destroy that failed half-way (the other
        clouds go with the class)."""
        for infra_id in {*self.infra_ids, *self.stored_ids()}:
            for container in self.docker.containers(
                    all=True, filters={"label": [f"{INFRA_TAG}={infra_id}"]}):
                self.docker.remove_container(container["Id"], v=True, force=True)

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.nova_servers(infra_id), [])
        self.assertEqual(self.nova_floating_ips(infra_id), [], "a floating IP is left")
        self.assertEqual(self.ec2_instances(infra_id), [])
        self.assertEqual(self.containers(infra_id), [])
        self.assertEqual(self.sigma_servers(infra_id), [])
        self.assertFalse([drive for drive in self.cloudsigma.drives()
                          if infra_id in drive["name"]], "a node's cloned drive is left")

    # --- what each cloud holds ---------------------------------------------------
    def assert_tagged(self, tags: Mapping[str, str], infra_id: str,
                      row: Mapping[str, Any]) -> None:
        self.assertEqual({key: tags.get(key) for key in TAGS},
                         {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: OWNER})

    def nova_db(self, infra_id: str, row: Mapping[str, Any]) -> str:
        """db is OpenStack's only server of the infrastructure, at its floating IP; its
        cloud-init text."""
        [server] = self.nova_servers(infra_id)
        self.assertEqual([item["id"] for item in self.openstack.live_servers()],
                         [server["id"]], "an untagged server")
        self.assertEqual((server["name"], server["status"]), ("hybrid-db", "ACTIVE"))
        self.assert_tagged(server["metadata"], infra_id, row)
        [floating] = [entry["addr"] for entry in server["addresses"][nova.NETWORK_NAME]
                      if entry["OS-EXT-IPS:type"] == "floating"]
        self.assertIn(ipaddress.ip_address(floating), nova.FLOATING)
        self.assertEqual(row["addresses"][0], floating)
        return base64.b64decode(self.openstack.servers[server["id"]].body["user_data"]).decode()

    def ec2_app(self, infra_id: str, row: Mapping[str, Any]) -> str:
        """app is moto's only instance of the infrastructure, its only address the loopback
        subnet's one; its user data."""
        [instance] = self.ec2_instances(infra_id)
        everything = self.ec2.describe_instances()["Reservations"]
        self.assertEqual([item["InstanceId"] for reservation in everything
                          for item in reservation["Instances"]], [instance["InstanceId"]],
                         "an untagged instance")
        self.assertEqual(instance["State"]["Name"], "running")
        tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", ())}
        self.assert_tagged(tags, infra_id, row)
        self.assertEqual(tags["Name"], "app")
        self.assertEqual(instance["SubnetId"], self.ec2_values["subnet_id"])
        self.assertFalse(instance.get("PublicIpAddress"), instance)
        self.assertIn(ipaddress.ip_address(instance["PrivateIpAddress"]),
                      ipaddress.ip_network(LOOPBACK.subnet_cidr))
        self.assertEqual(row["addresses"], [instance["PrivateIpAddress"]])
        answer = self.ec2.describe_instance_attribute(InstanceId=instance["InstanceId"],
                                                      Attribute="userData")
        return base64.b64decode(answer["UserData"]["Value"]).decode()

    def docker_web(self, infra_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """web is the engine's only container of the infrastructure, running, at the address
        the table shows; its inspection."""
        [container] = self.containers(infra_id)
        self.assertEqual(container["State"]["Status"], "running")
        self.assertEqual(container["Config"]["Image"], f"{WEB_IMAGE}:latest")
        self.assert_tagged(container["Config"]["Labels"], infra_id, row)
        [network] = container["NetworkSettings"]["Networks"].values()
        self.assertEqual(row["addresses"], [network["IPAddress"]])
        return container

    def sigma_monitor(self, infra_id: str, row: Mapping[str, Any]) -> str:
        """monitor is CloudSigma's only server of the infrastructure, at its address; its
        cloud-init text."""
        [server] = self.sigma_servers(infra_id)
        self.assertEqual([item["uuid"] for item in self.cloudsigma.servers()],
                         [server["uuid"]], "an untagged server")
        self.assertEqual(server["status"], "running")
        self.assert_tagged(server["meta"], infra_id, row)
        [address] = row["addresses"]
        self.assertIn(ipaddress.ip_address(address), sigma.ADDRESSES)
        self.assertEqual(server["runtime"]["nics"][0]["ip_v4"]["uuid"], address)
        text = self.cloudsigma.user_data(server)
        assert text is not None
        return text

    @staticmethod
    def cloud_config(text: str) -> dict[str, Any]:
        assert text.startswith("#cloud-config\n"), text
        return dict(yaml.safe_load(text))

    # --- the order ------------------------------------------------------------------
    def assert_built_in_dependency_order(self, infra_id: str, rows: Mapping[str, Any]) -> None:
        """Every dependant was started after its dependencies were ready: in the event log,
        and in the stored records' times."""
        store = self.open_store()
        events = [(event.name, event.data.get("name")) for event in store.events(infra_id)
                  if event.name in ("nodecreating", "nodecreated")]
        for node in CLOUD_OF:
            self.assertEqual(events.count(("nodecreating", node)), 1, events)
            self.assertEqual(events.count(("nodecreated", node)), 1, events)
        stored = store.get_instances(infra_id)
        self.assertEqual({name: list(by_id) for name, by_id in stored.items()},
                         {name: [row["node_id"]] for name, row in rows.items()})
        records = {name: by_id[rows[name]["node_id"]] for name, by_id in stored.items()}
        for dependant, dependencies in DEPENDENCIES.items():
            for dependency in dependencies:
                self.assertLess(events.index(("nodecreated", dependency)),
                                events.index(("nodecreating", dependant)),
                                f"{dependant} was started before {dependency} was ready: "
                                f"{events}")
                self.assertGreaterEqual(records[dependant]["created_at"],
                                        records[dependency]["ready_at"],
                                        f"{dependant} was created before {dependency} was "
                                        "ready")

    # --- the test ---------------------------------------------------------------------
    def test_build_report_and_destroy_across_four_clouds(self) -> None:
        description = self.write_description()
        infra_id, built = self.build_ready(description)
        self.infra_ids.append(infra_id)
        rows = {row["node"]: row for row in built}
        self.assertEqual(sorted(rows), sorted(CLOUD_OF))
        self.assertEqual(len(built), len(CLOUD_OF), "a node was made twice")

        # each cloud holds exactly its node, tagged, at the address its own cloud gave
        db_text = self.nova_db(infra_id, rows["db"])
        app_text = self.ec2_app(infra_id, rows["app"])
        web = self.docker_web(infra_id, rows["web"])
        monitor_text = self.sigma_monitor(infra_id, rows["monitor"])

        # each contextualisation rendered its dependencies' addresses, from other clouds
        db_ip, app_ip, web_ip = (rows[name]["addresses"][0] for name in ("db", "app", "web"))
        self.assertEqual(self.cloud_config(db_text), {"write_files": [{
            "content": "Hello World! I am the database, on OpenStack.\n",
            "path": "/tmp/message.txt", "permissions": "0644"}]})
        self.assertEqual(self.cloud_config(app_text), {
            "runcmd": [f"ping {db_ip} -c 5 > /tmp/ping-db.txt 2>&1"],
            "write_files": [{"content": f"database={db_ip}\n", "path": "/etc/app.conf",
                             "permissions": "0644"}]})
        message = f"web in front of app {app_ip}"
        self.assertIn(f"message={message}", web["Config"]["Env"])
        wait_until(lambda: message in self.docker.logs(web["Id"]).decode(errors="replace"),
                   "the web container printed its message")
        self.assertEqual(self.cloud_config(monitor_text), {"runcmd": [
            f"ping {web_ip} -c 5 > /tmp/ping-web.txt 2>&1",
            f"ping {db_ip} -c 5 > /tmp/ping-db.txt 2>&1"]})
        self.assert_built_in_dependency_order(infra_id, rows)

        # listed, reported ready, then destroyed: every cloud is left empty
        self.assertEqual(self.listed(), [infra_id])
        listed = self.run_command("occopus-maintain", "-l", code=0).stdout
        self.assertRegex(listed, rf"(?m)^.*{re.escape(infra_id)}")
        self.report_and_destroy(infra_id, built)
