from app import OrdersStack
from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

app = App()
OrdersStack(app, "Orders")
Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
app.synth()
