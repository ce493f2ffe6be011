"""The `puppet_solo` config manager: `puppet apply` of the node's manifests, on the node.

As in the original, the section lists `manifests`, `modules` and
`attributes`, and gives contextualisation templates `puppet.modules`,
`puppet.manifests` and `puppet.attributes` (the lists as text, joined by
spaces). What is new: Occopus applies them itself, over SSH, once the
node's machine is up, and knows how that went. Each manifest is Puppet code
(`!text_import {url: file://site.pp}` reads it next to the node definition
file) or an `http(s)://` URL, which the node downloads, as the original's
cloud-init did; `modules` are installed from the Puppet Forge on the node;
`attributes` (a mapping, or the original's list of one-key mappings) are the
hiera data the manifests look up.

Everything lives in `~/.occopus-puppet/` on the node (Puppet's own folders
included, so that nothing of the machine's Puppet set-up is used): the
node's Puppet (Debian's `puppet-agent`, or Puppet's own packages at
`/opt/puppetlabs/bin`) applies the manifests with `--detailed-exitcodes`.
A failed resource fails the node, with that resource and Puppet's message.
"""
from occo.util.plugins import Declared

from ..schemas import PUPPET_SOLO

PLUGIN = Declared(PUPPET_SOLO, "occo.configmanager.puppet.manager:PuppetSoloManager")
