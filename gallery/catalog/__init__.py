"""The catalog: the prompt language, the operations (one entry per operation:
label, fields, buttons, parameters, price key) and pricing. Pure: no Django models."""
