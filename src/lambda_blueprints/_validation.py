"""Synth-time validation of construct props against AWS limits.

Every check raises :class:`ValueError` naming the prop, the value given, the allowed range
and how to fix it. Values that are CDK tokens (resolved only at deploy time) are skipped.
"""

from __future__ import annotations

from aws_cdk import Duration, Token


def _is_token(value: object) -> bool:
    return Token.is_unresolved(value)


def _implements(value: object, interface: type) -> bool:
    """True when ``value`` implements the jsii interface ``interface``."""
    proxy = getattr(interface, "__jsii_proxy_class__", None)
    proxy_class = proxy() if callable(proxy) else None
    for cls in type(value).__mro__:
        if any(interface in i.__mro__ for i in getattr(cls, "__jsii_ifaces__", ())):
            return True
        if proxy_class is not None and issubclass(cls, proxy_class):
            return True
    # Imported resources come back from jsii as a proxy over one object per interface.
    delegates = getattr(value, "_delegates", None) or ()
    return any(_implements(delegate, interface) for delegate in delegates)


def is_instance(value: object, expected: type | tuple[type, ...]) -> bool:
    """``isinstance`` that also understands jsii interfaces such as ``kinesis.IStream``.

    jsii interfaces are protocols that ``isinstance`` refuses to check: a value implements
    one when its class declares it, or is (or, for an imported resource, delegates to) the
    interface's proxy class.
    """
    types = expected if isinstance(expected, tuple) else (expected,)
    classes = tuple(t for t in types if not _is_protocol(t))
    if classes and isinstance(value, classes):
        return True
    return any(_implements(value, t) for t in types if _is_protocol(t))


def _is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


def check_type(prop: str, value: object, expected: type | tuple[type, ...], example: str) -> None:
    """Raise :class:`TypeError` unless ``value`` is an instance of ``expected``.

    Args:
        prop: The prop's name.
        value: The value given.
        expected: The type (or types) the prop takes; jsii interfaces are understood.
        example: How to write a valid value, e.g. ``Duration.seconds(60)``.
    """
    # is_instance first: jsii cannot even look at some values (naive datetimes) for tokens.
    if is_instance(value, expected) or _is_token(value):
        return
    names = " or ".join(
        t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))
    )
    raise TypeError(
        f"{prop}={value!r} is a {type(value).__name__}, not a {names}. Pass e.g. {example}."
    )


def check_types(*props: tuple[str, object, type | tuple[type, ...]]) -> None:
    """:func:`check_type` for each ``(prop, value, expected)`` whose value is not None.

    The example in each error is the usual way to make a value of the first expected type
    (see :data:`EXAMPLES`), or the type's name.
    """
    for prop, value, expected in props:
        if value is None:
            continue
        first = expected[0] if isinstance(expected, tuple) else expected
        check_type(prop, value, expected, EXAMPLES.get(first.__name__, f"a {first.__name__}"))


#: How a user writes a value of the CDK types that props take, by type name.
EXAMPLES = {
    "Duration": "Duration.seconds(60)",
    "ITable": "dynamodb.Table(self, 'Table', ...) or dynamodb.Table.from_table_attributes(...)",
    "IStream": "kinesis.Stream(self, 'Stream') or kinesis.Stream.from_stream_arn(...)",
    "IStreamConsumer": "kinesis.StreamConsumer(self, 'Consumer', ...)",
    "IFunction": "lambda_.Function(self, 'Function', ...)",
    "IQueue": "sqs.Queue(self, 'Queue')",
    "IKey": "kms.Key(self, 'Key', enable_key_rotation=True)",
    "ITopic": "sns.Topic(self, 'Topic') or AlarmTopic(self, 'Alarms').topic",
    "IBucket": "s3.Bucket(self, 'Bucket', ...)",
    "Size": "Size.mebibytes(1)",
    "RetentionDays": "logs.RetentionDays.ONE_MONTH",
}


def check_int_range(prop: str, value: int, low: int, high: int, *, fix: str = "") -> None:
    """Raise unless ``low <= value <= high`` (whole numbers)."""
    if _is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        hint = f" {fix}" if fix else ""
        raise ValueError(
            f"{prop}={value!r} is out of range: allowed is a whole number from {low:,} to "
            f"{high:,}.{hint}"
        )


def check_duration_range(
    prop: str,
    value: Duration,
    low_seconds: int,
    high_seconds: int,
    *,
    fix: str = "",
) -> int:
    """Raise unless the duration is whole seconds within the range; return the seconds."""
    check_type(prop, value, Duration, f"Duration.seconds({low_seconds or 1})")
    seconds = value.to_seconds(integral=False)
    if _is_token(seconds):
        return -1
    hint = f" {fix}" if fix else ""
    if seconds != int(seconds) or not low_seconds <= seconds <= high_seconds:
        raise ValueError(
            f"{prop}={value.to_human_string()} ({seconds:g} s) is out of range: allowed is "
            f"{low_seconds:,} to {high_seconds:,} whole seconds.{hint}"
        )
    return int(seconds)


def check_choice(prop: str, value: object, allowed: tuple[object, ...], *, fix: str = "") -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if _is_token(value):
        return
    if value not in allowed:
        names = ", ".join(str(getattr(a, "name", a)) for a in allowed)
        hint = f" {fix}" if fix else ""
        raise ValueError(
            f"{prop}={getattr(value, 'name', value)!r} is not allowed here: choose one of "
            f"{names}.{hint}"
        )
