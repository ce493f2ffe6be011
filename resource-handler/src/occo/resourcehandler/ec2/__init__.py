"""The `ec2` resource type: instances on Amazon EC2 or a cloud that speaks its API (see
`handler`)."""
from occo.util.plugins import Declared

from .schema import EC2

PLUGIN = Declared(EC2, "occo.resourcehandler.ec2.handler:EC2Handler")
