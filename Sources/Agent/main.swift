import Core
print("cr-agent")
