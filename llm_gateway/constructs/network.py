"""Private networking (seed 002): the gateway's functions in a VPC's private subnets, reaching AWS
through VPC endpoints rather than the internet."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

# What the functions call: models, provider keys, queues, the eval bus, logs, metrics, traces and
# the cache's vector index. DynamoDB is reached through a (free) gateway endpoint.
INTERFACE_ENDPOINTS = {
    "BedrockRuntime": ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "EventBridge": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "S3Vectors": ec2.InterfaceVpcEndpointAwsService.S3_VECTORS,
}
ENDPOINTS_ID = "LlmGatewayEndpoints"


def private_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
    """The subnets given, else the VPC's private ones with egress (external providers need it),
    else its isolated ones (AWS services only, through the endpoints)."""
    if subnets:
        return subnets
    kind = ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets else ec2.SubnetType.PRIVATE_ISOLATED
    return ec2.SubnetSelection(subnet_type=kind)


def ensure_endpoints(vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> None:
    """The interface endpoints (private DNS, in the functions' subnets) and the DynamoDB gateway
    endpoint, once per VPC however many of the gateway's constructs are placed in it."""
    if vpc.node.try_find_child(ENDPOINTS_ID):
        return
    vpc.add_gateway_endpoint(ENDPOINTS_ID, service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    for name, service in INTERFACE_ENDPOINTS.items():
        endpoint = vpc.add_interface_endpoint(f"{name}Endpoint", service=service, subnets=subnets,
                                              private_dns_enabled=True)
        cdk.Validations.of(endpoint).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-EC23", reason="The endpoint's security group admits HTTPS from the VPC's own CIDR "
                                           "only: an intrinsic (the VPC's CidrBlock) the rule cannot read."))
