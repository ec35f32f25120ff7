from aws_cdk import App, Size, Stack

from lambda_blueprints import BlueprintFunction, KinesisFanOut

app = App()
stack = Stack(app, "RaceEvents")
race = KinesisFanOut(
    stack, "RaceEvents", records_per_second=5_000, average_record_size=Size.bytes(170)
)
race.add_consumer(
    "Leaderboard", enhanced_fan_out=True, code="lambda/orders", handler="handler.main"
)
archiver = BlueprintFunction(stack, "Archiver", code="lambda/orders", handler="handler.main")
race.add_consumer("Archive", function=archiver.function)
print(race.capacity.describe())  # 5 shard(s): writes up to 5,000 records/s or 5 MiB/s; ...
app.synth()
