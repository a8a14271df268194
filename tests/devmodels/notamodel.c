/* A shared object that is not a device model: no dmacoh_device_model symbol. */
int notamodel_answer(void);
int notamodel_answer(void)
{
	return 42;
}
