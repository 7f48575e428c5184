"""``LexChatbot``: seeds 002/004's conversational front end, an Amazon Lex V2 bot answered by the
gateway's pipeline."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lex as lex
from aws_cdk import aws_logs as logs
from constructs import Construct

from llm_gateway.constructs._lambda import python_function
from llm_gateway.constructs.guarded_endpoint import GuardedEndpoint
from llm_gateway.contract import LEX_SERVICE, Settings

HANDLER = "llm_gateway.lambdas.lex.handler"


class LexChatbot(Construct):
    """A Lex V2 bot (one locale, a question intent and the fallback intent) whose every utterance
    goes to a fulfillment function running the gateway's pipeline (``llm_gateway.lambdas.lex``) as
    a tenant of its own: the endpoint's guardrails, cache, quotas, budgets and usage ledger apply,
    and the conversation's earlier turns ride in Lex session attributes. Callers talk to the bot
    through its ``live`` alias (``bot_alias_arn``); the DRAFT test alias uses the same function.

    :param endpoint: the ``GuardedEndpoint`` whose pipeline answers (its settings and grants).
    :param tenant_id: the bot's tenant in quotas, budgets and usage (``lex-chatbot``).
    :param model_alias: the alias it asks (the endpoint's default alias).
    :param locale_id: the bot's locale (``en_US``), ``voice_id`` its Polly voice for speech.
    :param idle_session_ttl: how long a conversation (its session attributes) is kept idle.
    """

    def __init__(self, scope: Construct, id: str, *, endpoint: GuardedEndpoint, tenant_id: str = Settings.lex_tenant_id,
                 model_alias: str = Settings.lex_model_alias, bot_name: str | None = None, locale_id: str = "en_US",
                 voice_id: str = "Joanna", idle_session_ttl: cdk.Duration | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.function = python_function(
            self, "Fulfillment", handler=HANDLER, memory_size=512, timeout=cdk.Duration.seconds(30),
            log_retention=log_retention, removal_policy=removal_policy, vpc=vpc, vpc_subnets=vpc_subnets,
            description="LLM gateway Lex fulfillment: utterances through the gateway pipeline",
            environment={"POWERTOOLS_SERVICE_NAME": LEX_SERVICE, **endpoint.pipeline_environment,
                         **Settings.env(lex_tenant_id=tenant_id, lex_model_alias=model_alias)})
        endpoint.grant_pipeline(self.function)

        role = iam.Role(self, "BotRole", assumed_by=iam.ServicePrincipal("lexv2.amazonaws.com"),
                        description="Lex V2 bot runtime: speaks its replies with Polly")
        role.add_to_policy(iam.PolicyStatement(actions=["polly:SynthesizeSpeech"], resources=["*"]))
        cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="polly:SynthesizeSpeech acts on no resource of the account (voices are not resources); "
                   "it is the only action the bot's role allows."))
        hook = {"enabled": True}
        self.bot = lex.CfnBot(
            self, "Bot", name=bot_name or cdk.Names.unique_resource_name(self, max_length=50),
            description="Questions answered by the LLM gateway", role_arn=role.role_arn,
            data_privacy={"ChildDirected": False},
            idle_session_ttl_in_seconds=int((idle_session_ttl or cdk.Duration.minutes(5)).to_seconds()),
            auto_build_bot_locales=True,
            bot_locales=[lex.CfnBot.BotLocaleProperty(
                locale_id=locale_id, nlu_confidence_threshold=0.4,
                voice_settings=lex.CfnBot.VoiceSettingsProperty(voice_id=voice_id),
                intents=[
                    lex.CfnBot.IntentProperty(
                        name="AskGateway", description="A question for the assistant",
                        sample_utterances=[lex.CfnBot.SampleUtteranceProperty(utterance=u) for u in (
                            "I have a question", "Can you help me", "Help me with something")],
                        fulfillment_code_hook=hook),
                    lex.CfnBot.IntentProperty(  # every other utterance: the gateway answers it too
                        name="FallbackIntent", parent_intent_signature="AMAZON.FallbackIntent",
                        fulfillment_code_hook=hook),
                ])],
            test_bot_alias_settings=lex.CfnBot.TestBotAliasSettingsProperty(
                bot_alias_locale_settings=[self._code_hook(locale_id)]))
        version = lex.CfnBotVersion(
            self, "Version", bot_id=self.bot.attr_id, bot_version_locale_specification=[
                lex.CfnBotVersion.BotVersionLocaleSpecificationProperty(
                    locale_id=locale_id, bot_version_locale_details=lex.CfnBotVersion.BotVersionLocaleDetailsProperty(
                        source_bot_version="DRAFT"))])
        self.alias = lex.CfnBotAlias(
            self, "LiveAlias", bot_alias_name="live", bot_id=self.bot.attr_id, bot_version=version.attr_bot_version,
            bot_alias_locale_settings=[lex.CfnBotAlias.BotAliasLocaleSettingsItemProperty(
                locale_id=locale_id, bot_alias_locale_setting=lex.CfnBotAlias.BotAliasLocaleSettingsProperty(
                    enabled=True, code_hook_specification=lex.CfnBotAlias.CodeHookSpecificationProperty(
                        lambda_code_hook=lex.CfnBotAlias.LambdaCodeHookProperty(
                            lambda_arn=self.function.function_arn, code_hook_interface_version="1.0"))))])
        self.function.add_permission(
            "LexInvoke", principal=iam.ServicePrincipal("lexv2.amazonaws.com"), action="lambda:InvokeFunction",
            source_arn=f"arn:{stack.partition}:lex:{stack.region}:{stack.account}:bot-alias/{self.bot.attr_id}/*")

    def _code_hook(self, locale_id: str) -> lex.CfnBot.BotAliasLocaleSettingsItemProperty:
        return lex.CfnBot.BotAliasLocaleSettingsItemProperty(
            locale_id=locale_id, bot_alias_locale_setting=lex.CfnBot.BotAliasLocaleSettingsProperty(
                enabled=True, code_hook_specification=lex.CfnBot.CodeHookSpecificationProperty(
                    lambda_code_hook=lex.CfnBot.LambdaCodeHookProperty(
                        lambda_arn=self.function.function_arn, code_hook_interface_version="1.0"))))

    @property
    def bot_alias_arn(self) -> str:
        """What a client's ``RecognizeText``/``RecognizeUtterance`` calls name (``lex:`` actions on it)."""
        return self.alias.attr_arn

    def grant_converse(self, grantee: iam.IGrantable) -> iam.Grant:
        """For a client app talking to the bot: RecognizeText, RecognizeUtterance and its sessions."""
        return iam.Grant.add_to_principal(
            grantee=grantee, resource_arns=[self.bot_alias_arn],
            actions=["lex:RecognizeText", "lex:RecognizeUtterance", "lex:PutSession", "lex:GetSession",
                     "lex:DeleteSession"])
