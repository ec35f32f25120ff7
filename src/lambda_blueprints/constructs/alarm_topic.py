"""An encrypted SNS topic that the account's CloudWatch alarms can publish to."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambda_blueprints._validation import check_type


class AlarmTopic(Construct):
    """An SNS topic for alarm notifications, encrypted with a customer managed key.

    Every construct of the library takes an ``alarm_topic``; this is a topic such alarms
    can actually reach. CloudWatch publishes to an encrypted topic only when the key's
    policy lets ``cloudwatch.amazonaws.com`` use it (the AWS managed ``aws/sns`` key
    cannot), and a topic whose policy denies plain HTTP, as every topic of the library's
    does, has no statement left that admits CloudWatch unless one is added.

    Resources defined:
        * ``Key`` (unless ``encryption_key`` is given): a KMS key with rotation.
        * ``Topic``: the topic, TLS-only, encrypted with the key.
        * ``Topic/Policy``: the topic policy.

    Default settings:
        * The key lets CloudWatch encrypt and decrypt messages (``kms:GenerateDataKey``,
          ``kms:Decrypt``) and the topic lets it publish (``sns:Publish``), each only on
          behalf of alarms of this account and Region (``aws:SourceAccount`` and
          ``aws:SourceArn`` conditions, against the confused deputy problem).
        * Publishing over plain HTTP is denied.
        * The created key is kept when the stack is deleted, since messages and
          subscriptions may depend on it.

    Subscribe to :attr:`topic` (e-mail, chat, a pager) after deploying, and pass it as
    ``alarm_topic`` to the library's constructs.

    Args:
        scope: The parent construct.
        construct_id: The construct id.
        display_name: The topic's display name (the sender name of e-mail
            notifications).
        encryption_key: An existing customer managed key for the topic. Its policy gets
            the CloudWatch statement if the key is defined in this app; the policy of an
            imported key must allow it already. Defaults to a new key.
        key_removal_policy: What happens to the new key when it leaves the stack.
            Defaults to ``RETAIN``.

    Raises:
        TypeError: When ``encryption_key`` is not a KMS key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        key_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if encryption_key is not None:
            check_type("encryption_key", encryption_key, kms.IKey, "kms.Key(self, 'Key')")
        #: The key that encrypts the topic's messages.
        self.encryption_key: kms.IKey = encryption_key or kms.Key(
            self,
            "Key",
            description="Encrypts alarm notifications.",
            enable_key_rotation=True,
            removal_policy=key_removal_policy,
        )
        alarms_of_this_account = Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        on_behalf_of_this_account = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": alarms_of_this_account},
        }
        self.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccountToEncryptNotifications",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                # In a key policy, "*" is the key itself.
                resources=["*"],
                conditions=on_behalf_of_this_account,
            )
        )
        #: The topic.
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=display_name,
            master_key=self.encryption_key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccountToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=on_behalf_of_this_account,
            )
        )

    @property
    def topic_arn(self) -> str:
        """The topic's ARN."""
        return self.topic.topic_arn
