"""numerai-aci-wizard: set up a Numerai prediction pipeline on Azure Container Instances."""

__version__ = "0.1.0"
