"""What the azure_vm and azure_aci resource types share: signing in to an Azure cloud
(`credentials`), reading its errors (`errors`), and their fake (`testing`)."""
