import Core
print("broker")
