"""Invalid traffic: the rules applied at intake, and the CTR anomaly review for risk staff."""
