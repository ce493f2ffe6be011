"""What the azure_vm and azure_aci resource types share: signing in to an Azure cloud
(`credentials`, `session`), reading its errors (`errors`), their base handler (`handler`),
the section keys every Azure type has (`schema`), an infrastructure's network (`network`),
and their fake (`testing`)."""
