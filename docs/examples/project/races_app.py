from aws_cdk import App, Stack

from lambda_blueprints import AlleycatRacing

app = App()
stack = Stack(app, "Races")
racing = AlleycatRacing(stack, "Alleycat", messages_per_second=6000)  # 6 races at once
app.synth()
