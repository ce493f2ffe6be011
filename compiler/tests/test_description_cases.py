from occo.compiler import compile_description

from .casefiles import case_tests


def view(static):
    data = static.to_dict()
    data["nodes"] = {node["name"]: node for node in data["nodes"]}
    return data


DescriptionCases = case_tests("description", compile_description, view)
