"""drf-spectacular post-processing: facts about the API that hold for every operation."""

QUERY = "query"


def document_empty_query_values(result: dict, generator, request, public) -> dict:
    """An optional query parameter sent empty (``?date_to=``) means "not given".

    That is how DRF reads query strings (HTML-form convention) and how our pagination reads
    ``page`` and ``page_size``; the schema says so, so clients and fuzzers know it.
    """
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == QUERY and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
