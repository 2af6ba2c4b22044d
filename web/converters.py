"""``<rt:record_type>`` in URLs: organizations|contacts|deals -> the singular
record type the services and queries use."""


class RecordTypeConverter:
    regex = "organizations|contacts|deals"

    def to_python(self, value: str) -> str:
        return value[:-1]

    def to_url(self, value: str) -> str:
        return f"{value}s"
